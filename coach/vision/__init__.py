"""Video and the hand models: decoding and writing video, MediaPipe, the LiteRT landmark
network, following a hand, the model files. The only importers of the vision SDKs."""
