"""Ban evasion: fingerprints of banned accounts and the similarity that scores new accounts against them."""
