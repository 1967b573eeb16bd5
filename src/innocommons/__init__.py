"""InnoCommons: share and trade innovation resources across the regions of a community."""
