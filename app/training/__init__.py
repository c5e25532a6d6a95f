"""Training the per-target refinement network (`reenact train-refiner`)."""
