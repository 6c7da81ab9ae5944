"""averagers"""
