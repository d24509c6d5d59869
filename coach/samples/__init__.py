"""Generated sample clips: a rendered doll and hand doing each stroke, with ground truth."""
