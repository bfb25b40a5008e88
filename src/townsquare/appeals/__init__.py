"""Appeals, reinstatement and the advisory council's process (EU DSA Art. 20, Santa Clara Principles)."""
