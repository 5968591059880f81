# -*- coding: utf-8 -*-
"""简体中文 for every text of the UI, keyed by its English (lab/i18n.py explains the two paths).

Static texts first, tab by tab, then the templates handlers fill in with `say`. A parameter's
English name may stay in brackets after its label: it is what an API caller types.
"""

ZH: dict[str, str] = {
    # ------------------------------------------------------------------ page
    "# 🔬 DiT Lab — watch a diffusion model work\nA small **Diffusion Transformer** (trained here, on CPU, on 7,562 images of 3,781 emoji in two styles) turns noise into an\nimage, guided by your words. Every tab shows the steps, not just the result. The model predicts a *velocity*\nv = ε − x₀ (rectified flow): noise minus image. Images are shown enlarged, each model pixel a square.":
        "# 🔬 DiT 实验室 — 看一个扩散模型如何工作\n一个小型**扩散 Transformer**（在本项目中用 CPU 训练，数据是两种风格、3,781 个表情符号的 7,562 张图片）"
        "在你的文字引导下把噪声变成一张图像。每个标签页都展示每一步，而不只是结果。模型预测的是*速度* "
        "v = ε − x₀（整流流）：噪声减去图像。图像按放大显示，每个模型像素是一个方块。",
    "Model": "模型",
    "Every tab runs the model chosen here.": "每个标签页都运行这里选中的模型。",
    "64 px · latent DiT": "64 像素 · 潜空间 DiT",
    "32 px · pixel DiT": "32 像素 · 像素空间 DiT",
    "**{image}×{image} images from pixels.** The DiT diffuses the RGB pixels themselves: {tokens} tokens of {per} numbers ({p}×{p} patches). A guided step (a batch of two: with and without the prompt) costs **{gflop:.2f} GFLOP**; no decoder. Explore → Two spaces times both.":
        "**由像素生成 {image}×{image} 图像。** DiT 直接对 RGB 像素做扩散：{tokens} 个 token，每个 {per} 个数（{p}×{p} 的图块）。"
        "一个带引导的步骤（一批两份：有提示词和无提示词）耗费 **{gflop:.2f} GFLOP**；没有解码器。“探索 → 两种空间”会为两者计时。",
    "**{image}×{image} images from latents.** The DiT diffuses the autoencoder's {side}×{side}×{c} latents: {tokens} tokens of {per} numbers ({p}×{p} patches). A guided step (a batch of two: with and without the prompt) costs **{gflop:.2f} GFLOP**; the decoder adds {dg:.2f} GFLOP once, at the end. Explore → Two spaces times both.":
        "**由潜变量生成 {image}×{image} 图像。** DiT 对自编码器的 {side}×{side}×{c} 潜变量做扩散：{tokens} 个 token，每个 {per} 个数"
        "（{p}×{p} 的图块）。一个带引导的步骤（一批两份：有提示词和无提示词）耗费 **{gflop:.2f} GFLOP**；解码器只在最后运行一次，"
        "另加 {dg:.2f} GFLOP。“探索 → 两种空间”会为两者计时。",
    "On the latent model the noise is added to the image's latent z₀, not to its pixels: the noisy panel is the decoder's drawing of z_t, and an upload marked noisy is encoded to its latent.":
        "在潜空间模型上，噪声加在图像的潜变量 z₀ 上，而不是像素上：带噪面板是解码器对 z_t 的绘制；标记为带噪的上传图像会被编码成它的潜变量。",
    "**Forward** at position {k} (channel 1 of the centre latent position):": "**前向**，位置 {k}（中心潜变量位置的第 1 个通道）：",
    "*In latent space: z is the autoencoder's latent, z₀ = E(x₀) for an image x₀. The noise, the model and the solver all work on z (16×16×4 numbers); only x̂₀ = D(ẑ₀) goes through the decoder, to be shown.*":
        "*在潜空间中：z 是自编码器的潜变量，对图像 x₀ 有 z₀ = E(x₀)。噪声、模型和求解器都作用在 z（16×16×4 个数）上；只有 x̂₀ = D(ẑ₀) 经过解码器，用于显示。*",
    "*That is Euler's rule. This run's sampler, **{sampler}**, also uses earlier steps or a second model call, and moved the latent number to **{x:+.3f}**.*":
        "*这是欧拉法的规则。本次运行的采样器 **{sampler}** 还用到了之前的步骤或第二次模型调用，它把这个潜变量数值移到了 **{x:+.3f}**。*",
    "latent model: these panels are the latent's 4 channels; the merge happens on the latent grid (the mask max-pooled to it), and the exact pixels are pasted back outside the mask at the end.":
        "潜空间模型：这些面板是潜变量的 4 个通道；合并在潜变量网格上进行（蒙版经最大池化缩到该网格），最后再把蒙版外的原始像素原样贴回。",
    "latent model: x_t and ε̂ are latents, shown as their 4 channels (grey 0, white +3, black −3); x̂₀ and guidance's parts are decoded to pixels.":
        "潜空间模型：x_t 和 ε̂ 是潜变量，显示为它们的 4 个通道（灰 = 0，白 = +3，黑 = −3）；x̂₀ 和引导的各部分解码为像素显示。",
    "noisy latent (decoded after)": "带噪潜变量（之后再解码）",
    "---\nModels: our own DiTs and autoencoder, trained with `python -m training.train` and `python -m training.autoencoder` (model cards: `weights/dit-emoji-64/README.md`, `weights/dit-emoji/README.md`).\nData: Twemoji by Twitter, Inc and other contributors (CC-BY 4.0); Noto Emoji by Google (Apache 2.0). Text encoder: all-MiniLM-L6-v2 (Apache 2.0).":
        "---\n模型：我们自己的 DiT 和自编码器，用 `python -m training.train` 和 `python -m training.autoencoder` 训练（模型卡：`weights/dit-emoji-64/README.md`、`weights/dit-emoji/README.md`）。\n"
        "数据：Twemoji（Twitter 公司及其他贡献者，CC-BY 4.0）；Noto Emoji（Google，Apache 2.0）。文本编码器：all-MiniLM-L6-v2（Apache 2.0）。",
    "1 · Generate": "1 · 生成",
    "2 · Inpaint": "2 · 局部重绘",
    "3 · Denoise": "3 · 去噪",
    "4 · Forward & reverse": "4 · 前向与反向",
    "5 · How it works": "5 · 原理",
    "6 · Explore": "6 · 探索",
    # ------------------------------------------------------------ shared words
    "Prompt": "提示词 (prompt)",
    "Prompt (optional)": "提示词（可选）(prompt)",
    "Negative prompt": "反向提示词 (negative prompt)",
    "Seed": "随机种子 (seed)",
    "Steps": "步数 (steps)",
    "Step": "第几步",
    "Guidance": "引导强度 (guidance)",
    "Guidance scale": "引导强度 (guidance scale)",
    "Sampler": "采样器 (sampler)",
    "Image": "图像",
    "Example emoji": "示例表情符号",
    "Animation": "动画",
    "Stop": "停止",
    "Run": "运行",
    "Picks ε.": "决定 ε。",
    "Fixes the noise.": "固定噪声。",
    "English.": "请用英文。",
    # --------------------------------------------------------------- generate
    "What to draw, in English: an emoji name or everyday words. Add “noto style” or “twemoji style” to pick a look.":
        "要画什么（英文）：表情名称或日常用语。加上 “noto style” 或 “twemoji style” 可选择风格。",
    "Generate": "生成",
    "What to steer away from; guidance pushes the image away from this text.": "想避开的内容：引导会把图像推离这段文字。",
    "Same seed + same settings = same image.": "相同的种子 + 相同的设置 = 相同的图像。",
    "Randomize seed": "随机种子 (randomize)",
    "Pick a new seed each run (the one used is shown).": "每次运行换一个新种子（会显示实际用到的种子）。",
    "How many denoising steps: more = finer, slower.": "去噪步数：越多越精细，也越慢。",
    "How strongly to follow the prompt (1 = not guided).": "遵循提示词的强度（1 = 不使用引导）。",
    "The ODE solver that walks from noise to image.": "从噪声走到图像的常微分方程求解器。",
    "Images": "图像数量 (images)",
    "How many images (seeds seed, seed+1, …).": "生成几张图像（种子依次为 seed、seed+1、…）。",
    "Prompts must be in English: the text encoder (MiniLM) has no Chinese vocabulary.":
        "提示词必须使用英文：文本编码器（MiniLM）的词表中没有中文。",
    "Images (PNG)": "图像（PNG）",
    "Live: the model's current guess x̂₀": "实时：模型当前对 x̂₀ 的猜测",
    "Seed used": "实际使用的种子",
    "Download: native-size and display-size PNGs": "下载：原始尺寸与放大显示尺寸的 PNG",
    "### Step scrubber: what the model saw and said at each step (first image)": "### 逐步回放：模型在每一步看到了什么、给出了什么（第一张图）",
    "Steps done": "已完成步数",
    "0 = pure noise; the last position is the finished image.": "0 = 纯噪声；最右端是完成的图像。",
    "Try (click one: it fills the prompt and seed, and runs)": "试一试（点击一个：会填入提示词和种子并运行）",
    "x_t (the state after these steps)": "x_t（这些步之后的状态）",
    "x̂₀ (predicted clean image)": "x̂₀（预测的干净图像）",
    "ε̂ (predicted noise)": "ε̂（预测的噪声）",
    # ---------------------------------------------------------------- compare
    "Compare two prompts, step by step": "逐步比较两个提示词",
    "### Compare two prompts\nOne seed, one starting noise ε, two prompts. Where in the schedule do they part ways?":
        "### 比较两个提示词\n同一个种子、同一份起始噪声 ε、两个提示词。它们在噪声日程的哪一步分道扬镳？",
    "First prompt": "第一个提示词 (prompt_a)",
    "Second prompt": "第二个提示词 (prompt_b)",
    "Picks the one ε both start from.": "决定两者共同的起点 ε。",
    "Compare": "比较",
    "x̂₀ over the run: first prompt (top), second (bottom)": "整个过程中的 x̂₀：上行为第一个提示词，下行为第二个",
    "How far apart the two x̂₀ are, step by step": "两个 x̂₀ 每一步相距多远",
    "x̂₀ of the first prompt | of the second | difference × 4": "第一个提示词的 x̂₀ | 第二个的 | 差异 × 4",
    # ---------------------------------------------------------------- inpaint
    "Paint over part of the image (magenta brush; white is there for dark images). The model redraws **only** the painted region; every pixel outside it is kept exactly.":
        "在图像上涂抹一部分（洋红色画笔；深色图像可用白色）。模型**只**重绘涂过的区域；区域外的每个像素都保持原样。",
    "Image + mask": "图像 + 蒙版",
    "Inpaint": "重绘",
    "run inpaint": "运行重绘",
    "What should appear in the painted region (English).": "涂抹区域里应出现什么（英文）。",
    "Strength": "强度 (strength)",
    "1 = redraw from pure noise; lower keeps more of the old colours inside the mask.": "1 = 从纯噪声重画；越低，蒙版内保留的原有颜色越多。",
    "Denoising steps.": "去噪步数。",
    "How strongly to follow the prompt.": "遵循提示词的强度。",
    "RePaint resampling": "RePaint 重采样",
    "Go back up `jump length` steps and down again, `resamples` times, so the inside and outside agree better (uses the Euler sampler).":
        "回退 `jump length` 步再重新向下，重复 `resamples` 次，使蒙版内外更协调（使用 Euler 采样器）。",
    "Jump length": "回跳长度 (jump length)",
    "Steps to go back each time.": "每次回退的步数。",
    "Resamples": "重采样次数 (resamples)",
    "1 = off; n = each stretch is denoised n times.": "1 = 关闭；n = 每一段去噪 n 次。",
    "Result (enlarged; each square is one model pixel)": "结果（放大显示；每个方块是一个模型像素）",
    "Live x̂₀": "实时 x̂₀",
    "Difference |result − input| (red), mask border (blue)": "差异 |结果 − 输入|（红色），蒙版边界（蓝色）",
    "### Per step: the model's proposal inside the mask, the re-noised known region outside, and their merge":
        "### 每一步：蒙版内模型的提议、蒙版外重新加噪的已知区域，以及两者的合并",
    "proposal (the sampler's update)": "提议（采样器的更新）",
    "known region, noised to the next level": "已知区域，加噪到下一级",
    "merged: this step's result": "合并：这一步的结果",
    # ---------------------------------------------------------------- denoise
    "Add noise of a chosen level σ to an image — x_t = (1−σ)·x₀ + σ·ε — and watch the model take it back.":
        "给图像加上所选强度 σ 的噪声 —— x_t = (1−σ)·x₀ + σ·ε —— 再看模型把它去掉。",
    "Clean image (or a noisy upload)": "干净图像（或上传一张带噪图像）",
    "Add noise and denoise": "加噪并去噪",
    "Noise level σ": "噪声强度 σ (sigma)",
    "0 = clean, 1 = pure noise.": "0 = 干净，1 = 纯噪声。",
    "My image is already noisy": "我的图像已经带噪 (is_noisy)",
    "Then no noise is added: the upload is taken as x_t at this σ (like the noisy input panel).":
        "这样就不再加噪：上传的图像被当作该 σ 下的 x_t（与“带噪输入”面板相同）。",
    "Steps of the full schedule": "完整日程的步数 (steps)",
    "The run uses the part of this schedule below σ.": "运行只使用该日程中低于 σ 的部分。",
    "What the image shows, in English; empty = unconditional.": "图像内容（英文）；留空 = 无条件。",
    "Fixes the added noise.": "固定所加的噪声。",
    "noisy input x_t": "带噪输入 x_t",
    "one step: x̂₀": "一步：x̂₀",
    "iterative result": "迭代结果",
    "Against the clean image": "与干净图像比较",
    "image": "图像",
    "sharpness (clean = 1)": "锐度（干净图像 = 1）",
    "Where σ sits on the schedule": "σ 在日程中的位置",
    "noisy input": "带噪输入",
    "one-step x̂₀": "一步 x̂₀",
    # ------------------------------------------------------ forward & reverse
    "**Forward**: data → noise by the formula. **Reverse**: noise → data by the model, from the same noise ε. One slider moves both.":
        "**前向**：按公式从数据走到噪声。**反向**：由模型从噪声走回数据，使用同一份噪声 ε。一个滑块同时移动两者。",
    "Conditions the reverse process (English).": "作为反向过程的条件（英文）。",
    "Image to noise (optional; default: the generated one)": "要加噪的图像（可选；默认用生成的那张）",
    "Number of reverse steps.": "反向步数。",
    "g in the guidance equation below.": "下方引导公式中的 g。",
    "Euler's update is the one written below.": "下方写出的是 Euler 的更新公式。",
    "0: pure noise (reverse) / σ = 1 (forward). Right end: the data.": "0：纯噪声（反向）/ σ = 1（前向）。最右端：数据。",
    "▶ Play / ⏸ Pause": "▶ 播放 / ⏸ 暂停",
    "forward x_t (formula)": "前向 x_t（公式）",
    "reverse x_t (model)": "反向 x_t（模型）",
    "x̂₀ predicted clean": "x̂₀ 预测的干净图像",
    "ε̂ predicted noise": "ε̂ 预测的噪声",
    "**Guidance at this step**: x̂₀ without the prompt, with it, and guided = unconditional + g·(conditional − unconditional).":
        "**这一步的引导**：不带提示词的 x̂₀、带提示词的 x̂₀，以及引导后 = 无条件 + g·(有条件 − 无条件)。",
    "unconditional x̂₀": "无条件 x̂₀",
    "conditional x̂₀": "有条件 x̂₀",
    "guided x̂₀": "引导后 x̂₀",
    "Schedule": "噪声日程",
    "Export format": "导出格式 (format)",
    "All steps as a labelled animation.": "把所有步骤导出为带标注的动画。",
    "Export animation": "导出动画",
    # ------------------------------------------------------------ how it works
    "## The model\nThe chosen model's DiT, drawn with its real sizes.": "## 模型\n所选模型的 DiT，按真实尺寸绘制。",
    "Each solver visits its own σ values.": "每个求解器经过各自的 σ 值。",
    "How many σ values it visits.": "经过多少个 σ 值。",
    "Noise schedule": "噪声日程",
    "## What the DiT attends to\nCross-attention from the image patches to each word (token) of the prompt, averaged over heads and blocks, on the generated image noised to σ.":
        "## DiT 在关注什么\n图像块对提示词中每个词（token）的交叉注意力，对所有注意力头和模块取平均，测量于加噪到 σ 的生成图像上。",
    "Each token gets its own heatmap (English).": "每个 token 有自己的热力图（英文）。",
    "Which image to generate.": "生成哪一张图像。",
    "Noise level at which attention is measured.": "在哪个噪声强度下测量注意力。",
    "Show attention": "显示注意力",
    "generated image": "生成的图像",
    "colour scale (the words'; markers clip)": "颜色刻度（按词语的；标记符会超出）",
    "attention per token (one colour scale)": "每个 token 的注意力（同一颜色刻度）",
    "token": "token",
    "share of attention": "注意力占比",
    "the words' scale": "词语的刻度",
    "**Reading the heatmaps.** `[CLS]` and `[SEP]` are MiniLM's start and end markers. The encoder gathers the\nsentence's meaning into every token, these two included, so the DiT learned to read much of the prompt from them: most of\nthe attention goes there (their share is in the table). The colour scale is the words' own, so their maps can be compared\nwith each other; the two markers are hotter than it and clip (\"off the scale\"). Words that are not in MiniLM's vocabulary are\nsplit into pieces, e.g. “noto” becomes “not” + “##o”; each piece gets its own map. At high σ the image is mostly noise and the\nmodel leans on the words more; at low σ it mostly looks at the picture.":
        "**如何看热力图。** `[CLS]` 和 `[SEP]` 是 MiniLM 的开始与结束标记。编码器把整句话的意思汇集到每个 token 上，"
        "这两个也不例外，所以 DiT 学会了从它们读取提示词的大部分含义：大部分注意力落在这里（占比见表格）。"
        "颜色刻度按词语本身设定，便于词语之间比较；两个标记符比刻度更“热”，因此被截断（“超出刻度”）。"
        "不在 MiniLM 词表中的词会被拆成片段，例如 “noto” 变成 “not” + “##o”，每个片段都有自己的图。"
        "σ 较高时图像大多是噪声，模型更依赖文字；σ 较低时它主要看图像本身。",
    # ---------------------------------------------------------------- explore
    "Sampler race": "采样器赛跑",
    "### Sampler race\nOne prompt, one noise ε, four solvers. Which lands closest to the true end of the ODE for the same work?":
        "### 采样器赛跑\n一个提示词、一份噪声 ε、四个求解器。在相同的计算量下，谁最接近常微分方程真正的终点？",
    "Picks the shared ε.": "决定共同的 ε。",
    "Steps of each solver for the images.": "图中每个求解器所用的步数。",
    "The same for all. Above about 3 the paths can split (see below).": "对所有求解器相同。大约超过 3 时路径可能分叉（见下文）。",
    "Race": "开始赛跑",
    "reference and the four solvers": "参考解与四个求解器",
    "solver": "求解器",
    "steps": "步数",
    "measured order": "实测阶数",
    "**Reading the plot.** Each line is one solver; each point one number of steps (4, 8, 16, 32). Both axes are\nlogarithmic, so a solver whose error shrinks like NFE^(−p) is a straight line of slope −p: **p is its order**. In theory\nEuler is first order (double the steps, halve the error) and Heun, DPM-Solver++ 2M and UniPC second order, so their lines\nfall faster, until they meet the model's own roughness. The line above the plot says what this race measured.\nHeun spends two model calls per step, except the last (to σ = 0, a plain Euler step): 8 Heun steps are 15 calls,\nwhich is why its points sit further right.":
        "**如何看这张图。** 每条线是一个求解器；每个点对应一种步数（4、8、16、32）。两个坐标轴都是对数刻度，"
        "所以误差按 NFE^(−p) 缩小的求解器是一条斜率为 −p 的直线：**p 就是它的阶数**。理论上 Euler 是一阶的"
        "（步数加倍，误差减半），Heun、DPM-Solver++ 2M 和 UniPC 是二阶的，所以它们的线下降得更快，直到碰上模型自身的粗糙度。"
        "图上方的文字说明这次赛跑实际测到了什么。Heun 每步调用模型两次，最后一步除外（到 σ = 0 的一步是普通的 Euler 步）："
        "8 步 Heun 共 15 次调用，所以它的点更靠右。",
    "A flow in 2-D": "二维中的流",
    "### A flow in 2-D\nParticles start as Gaussian noise and follow a learned velocity field to the data. Dashed grey: straight lines of the training coupling (noise ε ↔ data x₀). Coloured: the learned paths. Green arrows: the direction the field moves points toward the data at this σ.":
        "### 二维中的流\n粒子从高斯噪声出发，沿着学到的速度场走向数据。灰色虚线：训练时配对的直线（噪声 ε ↔ 数据 x₀）。"
        "彩色线：学到的路径。绿色箭头：在当前 σ 下速度场把点推向数据的方向。",
    "Data set": "数据集 (dataset)",
    "Two moons has two classes (blue, red) for guidance.": "“two moons”（双月牙）有两个类别（蓝、红），可用于引导。",
    "Right panel: this g; left panel: g = 1.": "右图：此处的 g；左图：g = 1。",
    "Euler steps from σ = 1 to 0.": "从 σ = 1 到 0 的 Euler 步数。",
    "Train and flow": "训练并流动",
    "Particles, paths and field": "粒子、路径与速度场",
    "Export GIF": "导出 GIF",
    "**Same maths as the big model.** The MLP learns v(x, σ, class) with exactly the DiT's objective and σ sampling; sampling is the same Euler ODE solve from σ = 1 to 0, and guidance the same v = v∅ + g·(v_c − v∅). Only the data is two-dimensional, so every particle's path can be drawn.":
        "**与大模型相同的数学。** 这个 MLP 用与 DiT 完全相同的目标函数和 σ 采样来学习 v(x, σ, 类别)；采样是同样的从 σ = 1 到 0 的 "
        "Euler 常微分方程求解，引导也是同样的 v = v∅ + g·(v_c − v∅)。只是数据是二维的，所以每个粒子的路径都能画出来。",
    "Watch it learn": "看它学习",
    "### Watch a DiT learn\nA tiny DiT starts from random weights and learns the emoji you pick, with this project's own training code. Every few seconds: the loss and one sample per emoji, always from the same noise.":
        "### 看一个 DiT 学习\n一个微型 DiT 从随机权重开始，用本项目自己的训练代码学习你挑选的表情符号。每隔几秒："
        "损失曲线，以及每个表情符号一张样本，始终来自同一份噪声。",
    "Emoji to learn": "要学习的表情符号 (picked)",
    "Pick 4 to 8.": "选 4 到 8 个。",
    "Budget (seconds)": "时间预算（秒）(seconds)",
    "How long it trains.": "训练多长时间。",
    "Initial weights.": "初始权重。",
    "Train": "训练",
    "Loss": "损失",
    "samples before training": "训练前的样本",
    "samples now (same noise)": "当前样本（同一份噪声）",
    "Two paths to noise": "通往噪声的两条路",
    "### Two paths to noise\nThe same image and the same noise ε, under the variance-preserving (DDPM, cosine) path and under the straight rectified-flow path this model uses.":
        "### 通往噪声的两条路\n同一张图像、同一份噪声 ε，分别走方差保持路径（DDPM，余弦日程）和本模型使用的整流流直线路径。",
    "Points along each path.": "每条路径上的点数。",
    "Show both paths": "显示两条路径",
    "variance-preserving (DDPM)": "方差保持（DDPM）",
    "rectified flow (ours)": "整流流（本模型）",
    "Step along the path": "沿路径的步",
    "Signal and noise weights": "信号与噪声的权重",
    "The autoencoder": "自编码器",
    "### The autoencoder\nThe latent model works on a compressed image: our own autoencoder squeezes each 64×64 image into 16×16×4 numbers and back. Pick an image to see its latent and what the round trip loses.":
        "### 自编码器\n潜空间模型处理的是压缩后的图像：我们自己的自编码器把每张 64×64 的图像压缩成 16×16×4 个数，再还原回来。"
        "选一张图像，看看它的潜变量，以及一次往返损失了什么。",
    "Encode and decode": "编码并解码",
    "input (64×64)": "输入（64×64）",
    "decode(encode(input))": "解码(编码(输入))",
    "error |reconstruction − input| ×4": "误差 |重建 − 输入| ×4",
    "the latent: 4 channels of 16×16 (grey = 0, white = +3, black = −3)": "潜变量：4 个 16×16 的通道（灰 = 0，白 = +3，黑 = −3）",
    # ------------------------------------------------------------ samplers
    "Euler: one model call per step, the straight-line update x <- x + (sigma_next - sigma) * v":
        "Euler：每步调用一次模型，沿直线更新 x <- x + (sigma_next - sigma) * v",
    "Heun: a predictor-corrector, two model calls per step, more accurate per step": "Heun：预测-校正法，每步调用两次模型，每一步更精确",
    "DPM-Solver++ (2M): reuses the previous step's prediction for a second-order update": "DPM-Solver++ (2M)：复用上一步的预测，做二阶更新",
    "UniPC: a multistep predictor-corrector, good at few steps": "UniPC：多步预测-校正法，步数少时表现好",
    "**{name}** — {description}": "**{name}** — {description}",
    # ------------------------------------------------------- long explanations
    "\n## The maths the code runs\n**Forward process.** Pick a noise level $\\sigma\\in[0,1]$ and mix the image $x_0$ with Gaussian noise $\\varepsilon$:\n$$q(x_t\\mid x_0)=\\mathcal N\\big((1-\\sigma)\\,x_0,\\ \\sigma^2 I\\big),\\qquad x_t=(1-\\sigma)\\,x_0+\\sigma\\,\\varepsilon .$$\nSee it with numbers in the **Forward & reverse** tab (first panel, first equation), and beside the variance-preserving\npath of DDPM in **Explore → Two paths to noise**.\n\n**What the model learns.** Along that straight line from data to noise the velocity is $v=\\frac{dx_t}{d\\sigma}=\\varepsilon-x_0$.\nThe DiT is trained to predict it: $\\mathcal L=\\lVert v_\\theta(x_t,\\sigma,\\text{text})-(\\varepsilon-x_0)\\rVert^2$, with $\\sigma$ drawn from a\nlogit-normal (mostly middle noise). **Explore → A flow in 2-D** trains this very loss on 2-D points in seconds and draws the\nfield it learns; **Explore → Watch it learn** trains a tiny DiT with it while you watch. From one prediction follow the clean image and the noise:\n$\\hat x_0=x_t-\\sigma v$, $\\hat\\varepsilon=x_t+(1-\\sigma)v$ — the **x̂₀** and **ε̂** panels of every tab. The **Denoise** tab shows\nwhy one prediction is blurry and iterating is not.\n\n**Reverse process.** Start from pure noise ($\\sigma=1$) and step down: Euler's step is $x_{\\sigma'}=x_\\sigma+(\\sigma'-\\sigma)\\,v_\\theta$;\nHeun, DPM-Solver++ and UniPC are more accurate solvers of the same equation (pick one in **Generate** or **Forward & reverse**;\n**Explore → Sampler race** measures how much more accurate, as error against model evaluations).\n\n**Classifier-free guidance.** The model runs twice per step, with the prompt ($v_c$) and with an empty prompt ($v_\\varnothing$), in one batch:\n$$v = v_\\varnothing + g\\,(v_c - v_\\varnothing).$$\n$g=1$ is the plain conditional model; $g>1$ exaggerates what the prompt adds. The **Forward & reverse** tab shows the\nunconditional, conditional and guided x̂₀ of each step, and this equation with the step's numbers.\n\n**Inpainting.** After every step the pixels outside the mask are replaced by the original noised to the new level, so the model\nonly has to make the inside agree (the **Inpaint** tab's per-step view shows the proposal, the known part and the merge).\n":
        "\n## 代码里运行的数学\n**前向过程。** 选一个噪声强度 $\\sigma\\in[0,1]$，把图像 $x_0$ 与高斯噪声 $\\varepsilon$ 混合：\n$$q(x_t\\mid x_0)=\\mathcal N\\big((1-\\sigma)\\,x_0,\\ \\sigma^2 I\\big),\\qquad x_t=(1-\\sigma)\\,x_0+\\sigma\\,\\varepsilon .$$\n在 **前向与反向** 标签页里可以看到代入数字的版本（第一个面板、第一个公式），在 **探索 → 通往噪声的两条路** 里可以和 DDPM\n的方差保持路径并排比较。\n\n**模型学什么。** 沿着这条从数据到噪声的直线，速度是 $v=\\frac{dx_t}{d\\sigma}=\\varepsilon-x_0$。\nDiT 被训练来预测它：$\\mathcal L=\\lVert v_\\theta(x_t,\\sigma,\\text{text})-(\\varepsilon-x_0)\\rVert^2$，其中 $\\sigma$ 取自\nlogit-normal 分布（大多是中等噪声）。**探索 → 二维中的流** 用几秒钟在二维点上训练的正是这个损失，并画出学到的速度场；\n**探索 → 看它学习** 用它训练一个微型 DiT，让你边看边学。由一次预测可以得到干净图像和噪声：\n$\\hat x_0=x_t-\\sigma v$，$\\hat\\varepsilon=x_t+(1-\\sigma)v$ —— 也就是每个标签页里的 **x̂₀** 和 **ε̂** 面板。**去噪** 标签页\n展示了为什么一次预测是模糊的，而迭代不是。\n\n**反向过程。** 从纯噪声（$\\sigma=1$）出发一步步往下走：Euler 的一步是 $x_{\\sigma'}=x_\\sigma+(\\sigma'-\\sigma)\\,v_\\theta$；\nHeun、DPM-Solver++ 和 UniPC 是同一方程更精确的求解器（可在 **生成** 或 **前向与反向** 中选择；\n**探索 → 采样器赛跑** 以误差对模型调用次数的方式测量它们精确多少）。\n\n**无分类器引导。** 模型每步运行两次，一次带提示词（$v_c$），一次用空提示词（$v_\\varnothing$），放在同一个批次里：\n$$v = v_\\varnothing + g\\,(v_c - v_\\varnothing).$$\n$g=1$ 就是普通的条件模型；$g>1$ 会放大提示词带来的差别。**前向与反向** 标签页展示每一步的无条件、有条件和引导后的\nx̂₀，以及代入这一步数字的这个公式。\n\n**局部重绘。** 每一步之后，蒙版外的像素都被替换为加噪到新噪声强度的原图，所以模型只需要让蒙版内与之协调\n（**局部重绘** 标签页的逐步视图展示了提议、已知部分与合并结果）。\n",
    '**What the model learns differs too.** A DDPM network is trained to predict the noise, $\\hat\\varepsilon\\approx\\varepsilon$;\nours predicts the velocity $v=\\varepsilon-x_0$ along the straight line. Both give $\\hat x_0$, but the straight path\'s\nvelocity is the same at every point of one line, which is why few steps already land near the data.\n\n**Common misreadings.**\n- *An update like $x_{t+1} = x_t + \\alpha\\,(x_0 - x_t)$ is "diffusion".* It is not: it is a deterministic interpolation\n  toward the data. It has no noise and needs $x_0$ — there is nothing left for a model to learn.\n- *The VP path just adds noise.* It also **shrinks** the image by $\\sqrt{\\bar\\alpha}$, so that the total variance stays 1:\n  $\\bar\\alpha + (1-\\bar\\alpha) = 1$. The rectified-flow weights instead add up to one: $(1-\\sigma) + \\sigma = 1$.\n- *Both paths end in the same place.* They do (pure noise at $t=1$), and both start at the data, but in between the VP\n  image stays recognisable longer: its signal weight falls slowly at first (cosine).':
        '**模型学的东西也不同。** DDPM 网络被训练来预测噪声，$\\hat\\varepsilon\\approx\\varepsilon$；\n我们的模型预测沿直线的速度 $v=\\varepsilon-x_0$。两者都能得到 $\\hat x_0$，但直线路径上同一条线的每一点速度都相同，\n所以很少的步数就已经能落在数据附近。\n\n**常见误解。**\n- *形如 $x_{t+1} = x_t + \\alpha\\,(x_0 - x_t)$ 的更新就是“扩散”。* 不是：那是朝数据的确定性插值。它没有噪声，而且需要\n  $x_0$ —— 没有什么留给模型去学。\n- *VP 路径只是加噪声。* 它还会按 $\\sqrt{\\bar\\alpha}$ **缩小** 图像，使总方差保持为 1：\n  $\\bar\\alpha + (1-\\bar\\alpha) = 1$。整流流的两个权重则是相加为一：$(1-\\sigma) + \\sigma = 1$。\n- *两条路终点相同。* 确实相同（$t=1$ 时都是纯噪声），起点也都是数据，但在中间 VP 路径上的图像更久地保持可辨认：\n  它的信号权重一开始下降得很慢（余弦日程）。',
    "\n**Latent diffusion.** The 64-px model runs all of the above on a compressed image: our autoencoder's encoder $E$ turns a\n64×64×3 image into a 16×16×4 latent $z_0=E(x_0)$, the noise, the loss and the solver work on $z$ exactly as written with $z$ in\nplace of $x$, and only the end goes through the decoder: image $=D(\\hat z_0)$. The DiT's cost grows with its tokens, and a\n2×2 patch of latents stands for 8×8 pixels, so it draws 4× the pixels for the same work per step (the model choice at the top\nshows each model's cost; **Explore → The autoencoder** and **Two spaces** show the rest).\n":
        "\n**潜空间扩散。** 64 像素模型把上面的一切都用在压缩后的图像上：我们的自编码器的编码器 $E$ 把一张 64×64×3 的图像变成\n16×16×4 的潜变量 $z_0=E(x_0)$；噪声、损失和求解器都照上面写的作用在 $z$ 上（把 $x$ 换成 $z$），只有最后的结果经过解码器：\n图像 $=D(\\hat z_0)$。DiT 的计算量随 token 数增长，而一个 2×2 的潜变量图块代表 8×8 个像素，所以每步同样的计算能画出 4 倍的像素\n（页面顶部的模型选择显示每个模型的计算量；**探索 → 自编码器** 和 **两种空间** 展示其余部分）。\n",
}

# Texts handlers make, filled in by `say` (English template -> Chinese template, same {names}).
ZH.update({
    'Starting…':
        '开始…',
    'Step {i} of {n}…':
        '第 {i} 步，共 {n} 步…',
    'Done: {n} steps ({calls} model calls), seed {seed}.':
        '完成：{n} 步（{calls} 次模型调用），种子 {seed}。',
    'Generate first, then move the slider.':
        '先生成，再拖动滑块。',
    " (x̂₀ and ε̂: the last step's predictions)":
        '（x̂₀ 和 ε̂：最后一步的预测）',
    '{title} · predictions of step {j}':
        '{title} · 第 {j} 步的预测',
    'Stopped. Press Generate to start again.':
        '已停止。按“生成”重新开始。',
    'Stopped. Press Inpaint to start again.':
        '已停止。按“重绘”重新开始。',
    'Stopped.':
        '已停止。',
    '{k} of {n} steps done · σ = {sigma:.3f}':
        '已完成 {k}/{n} 步 · σ = {sigma:.3f}',
    '*This step ran unguided (one model call): the conditional prediction is used as it is.*':
        '*这一步没有使用引导（只调用一次模型）：直接使用有条件的预测。*',
    "*The last step: {sampler}'s schedule (as diffusers' flow-matching schedulers) ends at σ = {s:.3f}, not 0, because the model never trained exactly at σ = 0; this step removes that sliver of noise and changes the image by well under one grey level.*":
        '*最后一步：{sampler} 的日程（与 diffusers 的流匹配调度器一样）终止于 σ = {s:.3f} 而不是 0，因为模型从未在恰好 σ = 0 处训练；这一步去掉那一丝噪声，对图像的改变远小于一个灰度级。*',
    "*That is Euler's rule. This run's sampler, **{sampler}**, also uses earlier steps or a second model call, and moved the pixel to **{x:+.3f}**.*":
        '*这是 Euler 的规则。本次运行的采样器 **{sampler}** 还用到了之前的步或第二次模型调用，把这个像素移到了 **{x:+.3f}**。*',
    '**Forward** at position {k} (red channel of the centre pixel):':
        '**前向**，位置 {k}（中心像素的红色通道）：',
    '**Reverse, step {i} of {n}** (from {j} to {i} steps done)':
        '**反向，第 {i} 步（共 {n} 步）**（从已完成 {j} 步到 {i} 步）',
    ' — the last step, which made the result':
        ' —— 最后一步，它产生了结果',
    'Done ({n} steps, sampler {sampler}). Largest change outside the mask: {largest:.6f} — {verdict}.':
        '完成（{n} 步，采样器 {sampler}）。蒙版外最大的变化：{largest:.6f} —— {verdict}。',
    'exactly unchanged':
        '完全未变',
    'CHANGED':
        '有变化',
    'Step {i} of {n}: σ {a:.3f} → {b:.3f}':
        '第 {i} 步（共 {n} 步）：σ {a:.3f} → {b:.3f}',
    'σ (noise weight)':
        'σ（噪声权重）',
    '1 − σ (signal weight)':
        '1 − σ（信号权重）',
    'reverse step (noise → data)':
        '反向步（噪声 → 数据）',
    'σ seen in training':
        '训练中见到的 σ',
    'Noise schedule':
        '噪声日程',
    'channel {c}':
        '通道 {c}',
    'This image: PSNR of the round trip **{psnr:.1f} dB** (higher is closer; 30 dB is hard to tell apart by eye).':
        '这张图像：往返的 PSNR 为 **{psnr:.1f} dB**（越高越接近；30 dB 时肉眼已很难分辨）。',
    '**The DiT never sees pixels.** The latent model diffuses these {numbers:,} numbers ({c} channels of {g}×{g}), not the {pixels:,} pixel values: {ratio:.0f}× fewer, so each of its 64 tokens covers a 2×2 patch of latents, an 8×8 patch of pixels. Noise is added to the latents, the DiT predicts the velocity there, and only the final x̂₀ goes through the decoder. The decoder is trained to undo the encoder: what the round trip loses (the error map, ×4) is the floor of what any latent model can draw.':
        '**DiT 从不看像素。** 潜空间模型扩散的是这 {numbers:,} 个数（{c} 个 {g}×{g} 的通道），而不是 {pixels:,} 个像素值：少了 {ratio:.0f} 倍，所以它的 64 个 token 每个覆盖 2×2 的潜变量块，也就是 8×8 的像素块。噪声加在潜变量上，DiT 在那里预测速度，只有最终的 x̂₀ 才经过解码器。解码器被训练来还原编码器：往返中损失的部分（误差图，×4）就是任何潜空间模型所能画出的下限。',
    'Give a prompt (and optionally an image).':
        '请给出提示词（也可以再给一张图像）。',
    'Reverse step {i} of {n}…':
        '反向第 {i} 步，共 {n} 步…',
    'Run the forward & reverse process first, then export it.':
        '请先运行前向与反向过程，再导出。',
    '**t = {t:.2f}** — VP: $x_t = {sa:.3f}\\,x_0 + {sn:.3f}\\,\\varepsilon$ (weights² sum to {one:.0f}); RF: $x_t = {rs:.3f}\\,x_0 + {t:.3f}\\,\\varepsilon$ (weights sum to 1)':
        '**t = {t:.2f}** —— VP：$x_t = {sa:.3f}\\,x_0 + {sn:.3f}\\,\\varepsilon$（权重平方和为 {one:.0f}）；RF：$x_t = {rs:.3f}\\,x_0 + {t:.3f}\\,\\varepsilon$（权重之和为 1）',
    'VP signal √ᾱ':
        'VP 信号 √ᾱ',
    'VP noise √(1−ᾱ)':
        'VP 噪声 √(1−ᾱ)',
    'RF signal 1−σ':
        'RF 信号 1−σ',
    'RF noise σ':
        'RF 噪声 σ',
    't (RF: σ = t)':
        't（RF：σ = t）',
    '{sampler}, {steps} steps: the σ at the start of each step':
        '{sampler}，{steps} 步：每一步开始时的 σ',
    ' (shift {shift:g}: more steps at high noise)':
        '（偏移 {shift:g}：更多步数落在高噪声处）',
    '{share:.2f} of attention':
        '注意力占 {share:.2f}',
    '(off the scale)':
        '（超出刻度）',
    'Pick 4 to 8 emoji from: {names}.':
        '请从这些表情符号中选 4 到 8 个：{names}。',
    'Training…':
        '训练中…',
    '{n} steps, {t:.0f} of {budget:.0f} s, loss {loss:.3f}':
        '{n} 步，已用 {t:.0f}/{budget:.0f} 秒，损失 {loss:.3f}',
    'Done: {n} steps in {budget:.0f} s; loss {first:.3f} at the first step → {last:.3f} (mean of the last {k}). Nothing was saved.':
        '完成：{budget:.0f} 秒内 {n} 步；损失从第一步的 {first:.3f} → {last:.3f}（最后 {k} 步的平均）。没有保存任何东西。',
    'loss per step':
        '每步损失',
    'mean of {k}':
        '{k} 步平均',
    'training step':
        '训练步',
    'rectified-flow loss':
        '整流流损失',
    'Ready: move the slider or press Play.':
        '就绪：拖动滑块或按“播放”。',
    'forward x_t':
        '前向 x_t',
    'reverse x_t':
        '反向 x_t',
    'Your image is noised by the formula (first panel). The reverse run starts from the same ε, but it is a **new sample** the model draws for the prompt, not a reconstruction of your image: at σ = 1 nothing of the image is left to recover. To see the model take back partial noise, use the Denoise tab.':
        '你的图像按公式加噪（第一个面板）。反向过程从同一份 ε 出发，但它是模型为提示词画出的**新样本**，而不是对你图像的重建：在 σ = 1 时图像已经没有任何可恢复的信息。想看模型去掉部分噪声，请用“去噪”标签页。',
    "**The one-step x̂₀ is grainier than the clean image** (sharpness {sh1:.2f}, above 1): the model left noise in it. Iterating gives {p2:.2f} dB against the one step's {p1:.2f} dB, at sharpness {sh2:.2f}.":
        '**一步 x̂₀ 比干净图像更粗糙**（锐度 {sh1:.2f}，大于 1）：模型在其中留下了噪声。迭代得到 {p2:.2f} dB，一步为 {p1:.2f} dB，锐度 {sh2:.2f}。',
    "**Why the one-step x̂₀ wins on PSNR ({p1:.2f} vs {p2:.2f} dB) yet looks worse.** From this much noise the single prediction x̂₀ is the model's estimate of the *average* of all clean images that could lie under it. An average is blurry (sharpness {sh1:.2f} of the clean image's), and PSNR (pixel-wise squared error) rewards that hedging. Iterating commits to one sharp, plausible image (sharpness {sh2:.2f}): its details may not be the original's, so PSNR drops. Look at the images, not only the numbers.":
        '**为什么一步 x̂₀ 的 PSNR 更高（{p1:.2f} 对 {p2:.2f} dB），看起来却更差。** 在这么多噪声下，单次预测 x̂₀ 是模型对所有可能藏在噪声下的干净图像的*平均*的估计。平均是模糊的（锐度为干净图像的 {sh1:.2f}），而 PSNR（逐像素平方误差）恰好奖励这种折中。迭代则选定一张清晰、合理的图像（锐度 {sh2:.2f}）：它的细节未必是原图的，所以 PSNR 下降。请看图像，而不只是数字。',
    "**At this σ the noise hides little.** The one-step x̂₀ is already sharp ({sh1:.2f} of the clean image's sharpness) and close to the original ({p1:.2f} dB); iterating gives {p2:.2f} dB at sharpness {sh2:.2f}. Raise σ to see the one-step guess turn into a blurry average while iterating stays sharp.":
        '**在这个 σ 下噪声遮住的东西很少。** 一步 x̂₀ 已经很清晰（锐度为干净图像的 {sh1:.2f}），也接近原图（{p1:.2f} dB）；迭代得到 {p2:.2f} dB，锐度 {sh2:.2f}。调高 σ，就能看到一步猜测变成模糊的平均，而迭代仍保持清晰。',
    '**Here iterating wins on PSNR too** ({p2:.2f} vs {p1:.2f} dB): the one-step x̂₀ is a blurry average (sharpness {sh1:.2f}), and the iterative result (sharpness {sh2:.2f}) landed close to the original.':
        '**这里迭代在 PSNR 上也胜出**（{p2:.2f} 对 {p1:.2f} dB）：一步 x̂₀ 是模糊的平均（锐度 {sh1:.2f}），而迭代结果（锐度 {sh2:.2f}）落在了原图附近。',
    'σ = {sigma:.2f} is nearer 0 than any scheduled step: nothing to denoise, the image is returned as it is.':
        'σ = {sigma:.2f} 比日程中任何一步都更接近 0：没有需要去的噪声，图像原样返回。',
    'Ran **{ran} of the {steps} scheduled steps**. You asked for σ = {sigma:.2f}; the run starts at the nearest scheduled level, **σ = {used:.3f}**.':
        '运行了日程 {steps} 步中的 **{ran} 步**。你要求 σ = {sigma:.2f}；运行从最近的日程噪声强度开始，**σ = {used:.3f}**。',
    'The noise was added at that level.':
        '噪声就是按这个强度加的。',
    'No clean image to compare with, so no PSNR/SSIM.':
        '没有干净图像可比较，所以没有 PSNR/SSIM。',
    'σ = {sigma:.2f} on the {steps}-step schedule':
        'σ = {sigma:.2f} 在 {steps} 步日程中的位置',
    '**Your noisy upload is read as x_t at this σ**: x_t = (1−σ)·x₀ + σ·ε, exactly what the "noisy input x_t"\npanel shows, so downloading that panel and uploading it back (at the same σ) repeats the run. A photo with noise added the\nusual way, y = x₀ + s·n, is not dimmed like x_t: to the model its image looks (1−σ) times too bright and contrasty. For such\na photo pick σ = s / (1 + s) and expect the colours to come back stronger than they were.':
        '**你上传的带噪图像被当作该 σ 下的 x_t**：x_t = (1−σ)·x₀ + σ·ε，正是“带噪输入 x_t”面板所显示的，所以下载该面板再（以相同的 σ）上传，会重复同一次运行。用常见方式加噪的照片 y = x₀ + s·n 并不像 x_t 那样变暗：在模型看来，它的图像亮度和对比度高了 1/(1−σ) 倍。对这样的照片请选 σ = s / (1 + s)，并预期颜色会比原来更浓。',
    '{sampler}, {n} steps':
        '{sampler}，{n} 步',
    'reference: {sampler} {n} steps':
        '参考解：{sampler} {n} 步',
    '**The paths split here.** Even at {n} steps every solver ends {rmse:.2f} (RMSE) from the reference, so the measured orders ({measured}) mean nothing. At guidance {g:g} the trajectories pass near a boundary between two images: a tiny difference in the early steps decides which image a solve lands on, and the 100-step reference chose another one. Lower the guidance (the default, {default:g}, was measured not to split) to see the solvers converge.':
        '**这里路径分叉了。** 即使用 {n} 步，每个求解器的终点离参考解仍有 {rmse:.2f}（RMSE），所以实测阶数（{measured}）没有意义。在引导强度 {g:g} 下，轨迹经过两张图像之间的边界附近：早期步骤里的微小差别决定了求解落在哪一张图上，而 100 步的参考解选了另一张。调低引导强度（默认值 {default:g} 经测量不会分叉）就能看到求解器收敛。',
    '**The solvers converge**: at {n} steps the closest one is {rmse:.3f} from the reference. Measured orders: {measured}.':
        '**求解器收敛了**：用 {n} 步时最接近的一个离参考解 {rmse:.3f}。实测阶数：{measured}。',
    "Here {names} and Euler measure alike: within {tol:.1f}, closer than a slope fitted to four points can tell apart. The higher orders need a smooth velocity field; a small network's is rough at low σ, where the last steps are taken, so every solver's errors shrink at about the same rate here.":
        '这里 {names} 与 Euler 测得的阶数相当：相差不到 {tol:.1f}，用四个点拟合的斜率分辨不出这样的差别。更高的阶需要光滑的速度场；小网络的速度场在低 σ 处（最后几步所在之处）是粗糙的，所以这里每个求解器的误差都以差不多相同的速率减小。',
    "Euler's is the lowest, as the theory orders them.":
        'Euler 的最低，与理论给出的顺序一致。',
    "Here {names} measure{s} below Euler, against the theory. The theory assumes a smooth velocity field; a small network's is rough at low σ, where the last steps are taken, so errors stop shrinking at the rate an order promises. Try another seed or prompt.":
        '这里 {names} 测得的阶数低于 Euler，与理论相反。理论假设速度场是光滑的；小网络的速度场在低 σ 处（最后几步所在之处）是粗糙的，所以误差不再按阶数承诺的速度缩小。换一个种子或提示词试试。',
    '{s} (order ≈ {p:.1f})':
        '{s}（阶数 ≈ {p:.1f}）',
    'model evaluations (NFE)':
        '模型调用次数（NFE）',
    'RMSE to the reference':
        '与参考解的 RMSE',
    'Error against model evaluations':
        '误差与模型调用次数',
    'The two prompts read the same to the model (same word pieces, same noise): the two runs are identical.':
        '在模型看来两个提示词是一样的（相同的词片、相同的噪声）：两次运行完全相同。',
    "Both runs start from the same ε (seed {seed}), {n} steps. The two states part ways at **step {k}** (σ = {a:.2f} → {b:.2f}): after it they are half as far apart as they end. Their x̂₀ differ from step 1 ({d0:.3f}): at σ = 1 the model can only guess each prompt's average picture; by the end they are {d1:.3f} apart.":
        '两次运行从同一份 ε 出发（种子 {seed}），共 {n} 步。两个状态在 **第 {k} 步** 分道扬镳（σ = {a:.2f} → {b:.2f}）：这一步之后，它们的距离已达到最终距离的一半。它们的 x̂₀ 从第 1 步起就不同（{d0:.3f}）：在 σ = 1 时，模型只能猜出每个提示词的平均图像；到最后两者相距 {d1:.3f}。',
    'Compare first, then move the slider.':
        '先比较，再拖动滑块。',
    'Step {i} of {n} · σ = {sigma:.3f} · x̂₀ distance {d:.3f}':
        '第 {i} 步，共 {n} 步 · σ = {sigma:.3f} · x̂₀ 距离 {d:.3f}',
    'x̂₀ distance (RMSE, pixels 0..1)':
        'x̂₀ 距离（RMSE，像素 0..1）',
    'distance of the states after the step (model space)':
        '每步之后两个状态的距离（模型空间）',
    'the states part ways: step {k}':
        '状态分道扬镳：第 {k} 步',
    'step':
        '步',
    'Type a prompt to see how the model reads it.':
        '输入提示词，看看模型如何读它。',
    '**Word pieces** ({n} of at most {limit}): {pieces}':
        '**词片**（{n} 个，最多 {limit} 个）：{pieces}',
    'The prompt is longer than {limit} word pieces: the model reads only these.':
        '提示词超过 {limit} 个词片：模型只读这些。',
    '**Nearest things the model learned** (text-encoder similarity): ':
        '**模型学过的最接近的内容**（文本编码器相似度）：',
    'emoji name':
        '表情名称',
    'caption word':
        '描述词',
    'The model has not seen anything like these words; expect a guess.':
        '模型没有见过与这些词相似的东西；结果只能是猜测。',
    '(best match {best:.3f}, below {limit})':
        '（最佳匹配 {best:.3f}，低于 {limit}）',
    'Trained {n} steps in {t:.1f} s (loss {first:.3f} at the first step → {last:.3f}, mean of the last 20). Chamfer distance to the data: {before:.3f} at the start (Gaussian), **{after:.3f}** after the flow.':
        '用 {t:.1f} 秒训练了 {n} 步（损失从第一步的 {first:.3f} → {last:.3f}，最后 20 步的平均）。与数据的 Chamfer 距离：开始时（高斯）{before:.3f}，流动之后 **{after:.3f}**。',
    'The data: every drawn pixel of the ❤️ red heart emoji (32×32), as a point.':
        '数据：❤️ 红心表情符号（32×32）中每个有颜色的像素，各作为一个点。',
    '**Why both panels look the same:** this data set has one class, so the conditional and the unconditional field learn the same thing, v_c ≈ v∅, and v∅ + g·(v_c − v∅) ≈ v for any g: only their small training differences get amplified. Guidance needs classes to pull apart: try two moons.':
        '**为什么两幅图看起来一样：** 这个数据集只有一个类别，所以有条件和无条件的速度场学到的是同一件事，v_c ≈ v∅，对任意 g 都有 v∅ + g·(v_c − v∅) ≈ v：被放大的只是两者训练中的微小差别。引导需要不同的类别才能把它们拉开：试试 “two moons”。',
    'g = {g:g} · step {k} of {n} · σ = {sigma:.2f}':
        'g = {g:g} · 第 {k}/{n} 步 · σ = {sigma:.2f}',
    'a whole number':
        '整数',
    'a number':
        '数',
    'between {low} and {high}':
        '（介于 {low} 和 {high} 之间）',
    '{control} must be {kind} {bounds}; got {got}.':
        '{control} 必须是{kind}{bounds}；收到的是 {got}。',
    '{control} must be text.':
        '{control} 必须是文本。',
    '{control}: type something first, e.g. “red apple” or “cat face, noto style”.':
        '{control}：请先输入内容，例如 “red apple” 或 “cat face, noto style”。',
    '{control} is {n} characters long; keep it under {limit} (the model reads 16 tokens).':
        '{control} 有 {n} 个字符；请控制在 {limit} 个以内（模型只读 16 个 token）。',
    '{control} must be one of: {allowed}.':
        '{control} 必须是以下之一：{allowed}。',
    '{control}: no image arrived. Pick an example or upload an image ({formats}); a file the browser cannot open as an image (a text file renamed .png, say) does not arrive either.':
        '{control}：没有收到图像。请选择一个示例或上传图像（{formats}）；浏览器无法作为图像打开的文件（例如改名为 .png 的文本文件）也不会被发送。',
    '{control}: expected an image file.':
        '{control}：需要一个图像文件。',
    '{control}: the file is empty or did not arrive; upload it again.':
        '{control}：文件是空的或没有送达；请重新上传。',
    '{control}: the file is larger than {mb} MB.':
        '{control}：文件大于 {mb} MB。',
    '{control}: SVG drawings are not supported; upload a {formats} image.':
        '{control}：不支持 SVG 矢量图；请上传 {formats} 图像。',
    '{control}: the pasted image could not be read.':
        '{control}：无法读取粘贴的图像。',
    '{control}: the image is {w}×{h} pixels; the limit is {mp} megapixels.':
        '{control}：图像为 {w}×{h} 像素；上限是 {mp} 百万像素。',
    '{control}: the image is too large to open safely (over {mp} megapixels).':
        '{control}：图像太大，无法安全打开（超过 {mp} 百万像素）。',
    '{control}: this file is not an image the app can read; upload a {formats} file.':
        '{control}：这个文件不是本应用能读取的图像；请上传 {formats} 文件。',
    '{control}: the image file is damaged or incomplete; upload it again or use another file.':
        '{control}：图像文件已损坏或不完整；请重新上传或换一个文件。',
    '{control}: the image has no pixels.':
        '{control}：图像没有像素。',
    "{control}: expected the editor's value, {{'background': image, 'layers': [mask images]}}.":
        "{control}：需要编辑器的值，{{'background': image, 'layers': [mask images]}}。",
    'Paint a mask with the brush: the painted area is what the model redraws (if you have just painted, the stroke may still be on its way: click Inpaint again).':
        '请用画笔涂出蒙版：涂过的区域就是模型要重绘的部分（如果你刚刚涂过，笔画可能还在传送中：请再点一次“重绘”）。',
    'The mask is empty: paint over the part of the image you want the model to redraw (if you have just painted, the stroke may still be on its way: click Inpaint again).':
        '蒙版是空的：请涂抹你想让模型重绘的部分（如果你刚刚涂过，笔画可能还在传送中：请再点一次“重绘”）。',
    '{control}: the mask is {w}×{h} but the image is {iw}×{ih}; paint the mask on the same image.':
        '{control}：蒙版为 {w}×{h}，而图像为 {iw}×{ih}；请在同一张图像上涂蒙版。',
    '{control}: the mask did not arrive; paint it again.':
        '{control}：蒙版没有送达；请重新涂抹。',
    '{control}: the mask is too large.':
        '{control}：蒙版太大。',
    '{control}: the mask is not a readable image; paint it again.':
        '{control}：蒙版不是可读取的图像；请重新涂抹。',
    'Image + mask (mask layer)':
        '图像 + 蒙版（蒙版图层）',
    'Emoji':
        '表情符号',
    'σ':
        'σ',
    'Format':
        '格式',
    'Image to noise':
        '要加噪的图像',
})

# Explore · Two spaces
ZH.update({
    'Train the flow first, then export it.':
        '请先训练并流动，再导出。',
    'Two spaces':
        '两种空间',
    "### Two spaces\nThe same prompt and seed on the 32-px model, which diffuses pixels, and on the 64-px model, which diffuses an autoencoder's latents. The same number of tokens: what does each step cost?":
        '### 两种空间\n同一个提示词和种子，分别交给在像素上扩散的 32 像素模型，和在自编码器潜变量上扩散的 64 像素模型。token 一样多：每一步各花多少？',
    'Run both models':
        '运行两个模型',
    'x̂₀ over the run: pixel model (top), latent model (bottom)':
        '整个过程中的 x̂₀：上行为像素模型，下行为潜空间模型',
    'model':
        '模型',
    'tokens':
        'token 数',
    'numbers per token':
        '每个 token 的数值个数',
    'GFLOP per step':
        '每步 GFLOP',
    'ms per step':
        '每步毫秒',
    'decode ms':
        '解码毫秒',
    "this step's x̂₀: pixel model | latent model":
        '这一步的 x̂₀：像素模型 | 潜空间模型',
    'pixels, 32 px':
        '像素，32 像素',
    'latents, 64 px':
        '潜变量，64 像素',
    'Run both models first, then move the slider.':
        '先运行两个模型，再拖动滑块。',
    'Step {i} of {n} · σ = {sigma:.3f} · left: {a} · right: {b}':
        '第 {i} 步，共 {n} 步 · σ = {sigma:.3f} · 左：{a} · 右：{b}',
    "**Same compute, {ratio:.0f}× the pixels.** Both DiTs see {tokens} tokens, so a step costs about the same:":
        '**同样的计算量，{ratio:.0f} 倍的像素。** 两个 DiT 都看到 {tokens} 个 token，所以每一步的开销差不多：',
    "**{ratio:.0f}× the pixels for {compute:.2f}× the compute.** Both DiTs see {tokens} tokens; the latent DiT has {dl} blocks of width {wl} to the pixel DiT's {dp} of width {wp}, so its step costs {compute:.2f}× as much:":
        '**{compute:.2f} 倍的计算量，{ratio:.0f} 倍的像素。** 两个 DiT 都看到 {tokens} 个 token；潜空间 DiT 有 {dl} 个宽度为 {wl} 的块，像素 DiT 有 {dp} 个宽度为 {wp} 的块，所以它每一步的开销是 {compute:.2f} 倍：',
    "{gp:.2f} vs {gl:.2f} GFLOP, {mp:.1f} vs {ml:.1f} ms here. The pixel model's token is a 4×4 patch of RGB ({pp} numbers); the latent model's is a 2×2 patch of latents ({pl} numbers), which the decoder turns into an 8×8 patch of pixels. **What the autoencoder costs:** one decode at the end, {dg:.2f} GFLOP, {dm:.1f} ms, about {steps_equiv:.1f} DiT steps. {n} steps: {tp:.0f} ms of DiT for 32 px, {tl:.0f} ms with the decode for 64 px (timings: the best of {k} eager calls each, on this machine, now).":
        '{gp:.2f} 对 {gl:.2f} GFLOP，这里测得 {mp:.1f} 对 {ml:.1f} 毫秒。像素模型的一个 token 是 4×4 的 RGB 块（{pp} 个数）；潜空间模型的一个 token 是 2×2 的潜变量块（{pl} 个数），解码器把它变成 8×8 的像素块。**自编码器的代价：** 最后解码一次，{dg:.2f} GFLOP，{dm:.1f} 毫秒，约等于 {steps_equiv:.1f} 个 DiT 步。{n} 步：32 像素的 DiT 用时 {tp:.0f} 毫秒，64 像素连同解码共 {tl:.0f} 毫秒（计时：在这台机器上、此刻，各取 {k} 次非编译调用中最快的一次）。',
})

# How it works · the model drawing
ZH.update({
    'noisy image':
        '带噪图像',
    'patchify {p}×{p}':
        '切块 {p}×{p}',
    '{t} tokens × {d} + positions':
        '{t} 个 token × {d} + 位置',
    'unpatchify + 3×3 conv':
        '拼回图像 + 3×3 卷积',
    'prompt → MiniLM (frozen)':
        '提示词 → MiniLM（冻结）',
    '{L} tokens × {td}':
        '{L} 个 token × {td}',
    'caption projection':
        '文本投影',
    '{L} × {d} → cross-attention':
        '{L} × {d} → 交叉注意力',
    'pooled text + t embedding':
        '池化文本 + t 嵌入',
    '{depth} DiT blocks, width {d}, {heads} heads; each: adaLN-Zero self-attention → cross-attention to the {L} text tokens → adaLN-Zero MLP (×{r:g}). Green arcs: U-ViT long skips.':
        '{depth} 个 DiT 模块，宽度 {d}，{heads} 个注意力头；每个模块：adaLN-Zero 自注意力 → 对 {L} 个文本 token 的交叉注意力 → adaLN-Zero MLP（×{r:g}）。绿色弧线：U-ViT 长跳跃连接。',
    'Parameters':
        '参数量',
    'patch + text embedders':
        '切块 + 文本嵌入',
    'DiT blocks':
        'DiT 模块',
    'final layer + conv':
        '最后一层 + 卷积',
    'total':
        '合计',
})

# Generate's sampler line, "**unipc** — UniPC: ...", for each sampler (its first value is built with the page)
from pipelines import SAMPLERS  # noqa: E402

ZH.update({f"**{name}** — {desc}": f"**{name}** — {ZH[desc]}" for name, (desc, *_) in SAMPLERS.items()})
