"""digits_resnet: a BatchNorm ResNet on scikit-learn's digits (imagenet_resnet analog)."""

FRAMEWORKS = {
    "pytorch": "sfadamw.workloads.digits_resnet.pytorch:DigitsResNetWorkload",
    "jax": "sfadamw.workloads.digits_resnet.jax:DigitsResNetWorkload",
}
