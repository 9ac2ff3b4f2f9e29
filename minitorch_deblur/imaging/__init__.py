"""The imaging helpers between the models and the commands: photo I/O (``photo_io``), tiled restoration of large
photos within a memory bound (``tiling``), restoration scoring and self-ensemble (``restoration``), digit photos
to MNIST (``digits``) and the figures (``plots``). Importing this package loads nothing but NumPy: Pillow and
matplotlib are imported inside the functions that need them.
"""
