"""`python -m pipelines.evaluate [WEIGHTS]`: the judge's report on a pipeline, name top-5 beside the
held-out paraphrase top-5. The same command as `python -m training.evaluate`, which holds the code:
the judge and the caption sets belong to training, and the library imports none of it."""

if __name__ == "__main__":
    from training.evaluate import main

    main()
