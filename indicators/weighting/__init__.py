"""Weight derivation: equal, budget allocation, entropy, CRITIC, PCA, AHP, and effective-weight reports."""
