"""FSSUAVL on Flower: federated SSL of one encoder on unpaired images and audio."""
