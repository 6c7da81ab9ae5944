"""Small shared helpers: atomic file writes, image conversion and grids, progress bars."""
