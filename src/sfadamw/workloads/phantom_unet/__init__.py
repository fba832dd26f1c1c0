"""phantom_unet: U-Net reconstruction of undersampled k-space of phantoms (fastmri analog)."""

FRAMEWORKS = {"pytorch": "sfadamw.workloads.phantom_unet.pytorch:PhantomUNetWorkload"}
