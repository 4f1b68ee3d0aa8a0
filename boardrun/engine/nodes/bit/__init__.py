"""Bit: model and file descriptors (Flow-Like's Bits), looked up and told apart."""
