"""digits_vit: a small pre-LayerNorm ViT on scikit-learn's digits (imagenet_vit analog)."""

FRAMEWORKS = {"pytorch": "sfadamw.workloads.digits_vit.pytorch:DigitsViTWorkload"}
