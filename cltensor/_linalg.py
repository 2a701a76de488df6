"""(being written)"""
EXPORTS = {}


def _install():
    pass
