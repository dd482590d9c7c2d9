"""Finds files and their facts on SMB shares: walking, reading, hashing and security descriptors."""
