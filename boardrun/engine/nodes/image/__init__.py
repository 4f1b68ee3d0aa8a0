"""Nodes of the Image categories: reading, writing, transforming and annotating images, and PDF pages as images."""
