"""Training the learned nets: data, augmentation, targets and the optimisation loop."""
