"""botkit's example strategies, installed as the package ``botkit_strategies``."""
