"""Everyday prompts that are not emoji names, each with the emoji it means.

They measure whether the model draws what people type rather than only the names it was
trained on. None of them is ever a training caption: `EmojiRecord.captions` drops any caption
equal to one of these (a test checks the whole caption bank). The gate set scores the shipped
model; the tuning set is used to choose sampler, steps and guidance, so that no setting is
tuned on the prompts that judge it.
"""

from __future__ import annotations

# (prompt a learner would type, the CLDR name of the emoji it means)
GATE = [
    ("space rocket", "rocket"), ("a slice of pizza", "pizza"), ("a cute kitty", "cat face"),
    ("a yellow star", "star"), ("a puppy dog", "dog face"), ("a happy smiley face", "grinning face"),
    ("a red love heart", "red heart"), ("a cool face with shades", "smiling face with sunglasses"),
    ("a shiny red apple", "red apple"), ("a ripe banana", "banana"), ("a birthday cake with candles", "birthday cake"),
    ("a cup of hot coffee", "hot beverage"), ("a glass of red wine", "wine glass"), ("a mug of cold beer", "beer mug"),
    ("an ice cream cone", "soft ice cream"), ("a juicy burger", "hamburger"), ("a carton of fries", "french fries"),
    ("a hot dog sandwich", "hot dog"), ("a slice of watermelon", "watermelon"), ("a bunch of purple grapes", "grapes"),
    ("a fresh strawberry", "strawberry"), ("an orange carrot", "carrot"), ("a full moon at night", "full moon"),
    ("a rain cloud", "cloud with rain"), ("a lightning bolt", "high voltage"), ("a burning flame", "fire"),
    ("a rainbow in the sky", "rainbow"), ("a sunflower in bloom", "sunflower"), ("a red rose flower", "rose"),
    ("a pine tree", "evergreen tree"), ("a palm tree on the beach", "palm tree"), ("a little grey mouse", "mouse face"),
    ("a pink piggy", "pig face"), ("a panda bear", "panda"), ("a cheeky monkey", "monkey face"),
    ("a green froggy", "frog"), ("an orange tiger", "tiger face"), ("a majestic lion", "lion"),
    ("a little yellow chick", "baby chick"), ("a magical unicorn", "unicorn"), ("a buzzing bee", "honeybee"),
    ("a red car", "automobile"), ("a flying airplane", "airplane"), ("a bike to ride", "bicycle"),
    ("a football for soccer", "soccer ball"), ("a basketball game", "basketball"), ("a golden trophy cup", "trophy"),
    ("a present with a ribbon", "wrapped gift"), ("a party balloon", "balloon"), ("a christmas tree with lights", "Christmas tree"),
    ("a halloween pumpkin", "jack-o-lantern"), ("a spooky ghost", "ghost"), ("a smiling pile of poop", "pile of poo"),
    ("a spooky skull", "skull"), ("a space alien", "alien"), ("a robot head", "robot"),
    ("laughing so hard it cries", "face with tears of joy"), ("a winking smiley", "winking face"), ("an idea bulb", "light bulb"),
    ("a smartphone", "mobile phone"), ("a waving hello hand", "waving hand"), ("a thumbs up gesture", "thumbs up"),
    ("the french flag", "flag, France"), ("the japanese flag", "flag, Japan"),
]
TUNE = [
    ("a slice of cake", "shortcake"), ("a cup of tea", "teacup without handle"), ("a loaf of bread", "bread"),
    ("a cheese wedge", "cheese wedge"), ("a fried egg in a pan", "cooking"), ("a sweet doughnut", "doughnut"),
    ("a pear fruit", "pear"), ("a lemon fruit", "lemon"), ("a snowy snowman", "snowman without snow"),
    ("a cute bunny", "rabbit face"), ("a fluffy sheep", "ewe"), ("a slow turtle", "turtle"),
    ("a sea whale spouting", "spouting whale"), ("an octopus with tentacles", "octopus"), ("a brown bear", "bear"),
    ("a racing car", "racing car"), ("a steam train", "locomotive"), ("a sailing boat", "sailboat"),
    ("a gold medal", "1st place medal"), ("a music note", "musical note"), ("an old key", "old key"),
    ("a bag of money", "money bag"), ("a sad face with a tear", "crying face"), ("a furious red face", "enraged face"),
    ("a kissy face", "face blowing a kiss"), ("a computer laptop", "laptop"), ("a ringing alarm clock", "alarm clock"),
    ("a little house", "house"), ("clapping for applause", "clapping hands"), ("the german flag", "flag, Germany"),
    ("the italian flag", "flag, Italy"), ("a globe of the earth", "globe showing Europe-Africa"),
]

# The out-of-vocabulary grid: free prompts a person types, judged by eye (model card).
OOV_PROMPTS = [
    "a cute puppy", "space shuttle launch", "a slice of cheese pizza", "big yellow sun", "a red sports car",
    "a green tree", "a blue ocean wave", "a happy face with big eyes", "a chocolate cake", "an orange cat",
    "a pink flower", "a thumbs up", "a cup of tea", "a brown teddy bear", "a shining star", "a sad face",
]


def held_out_prompts() -> frozenset[str]:
    """Every paraphrase and grid prompt, lower-cased: never a training caption."""
    return frozenset(p.lower() for p in [p for p, _ in GATE + TUNE] + OOV_PROMPTS)
