"""Source adapters: real log formats in, normalised events (or dead letters) out."""
