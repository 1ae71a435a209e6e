"""opsctl: deploy Docker-packaged web apps to your own servers and provision their AWS pieces."""

__version__ = "0.1.0"
