"""Data augmentation for a rare class with a conditional GAN (``gankit augment``, docs/augment.md).

- :mod:`gankit.augment.command`: ``augment(AugmentRequest(...))``, what ``gankit augment`` runs;
- :mod:`gankit.augment.classifier`: the fixed downstream classifier and its metrics
  (``train_classifier``, ``evaluate_classifier``, ``metrics_from_confusion``);
- :mod:`gankit.augment.confidence`: the confidence filter;
- :mod:`gankit.augment.baselines`: random oversampling and classical augmentation of a class;
- :mod:`gankit.augment.data`: ``--data DATASET_OR_DIR``, classes and the training items;
- :mod:`gankit.augment.writer`: the ImageFolder output and ``manifest.json``.

Imports are lazy (``from gankit.augment.classifier import train_classifier``) so that
``import gankit.augment`` stays light.
"""
