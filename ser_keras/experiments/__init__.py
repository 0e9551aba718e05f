"""The papers' recipes: folds × rows → run records (SHORT Tables 1/3, ELOR Table 5)."""
