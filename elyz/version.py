"""The Elyz version, printed in the boot banner."""
VERSION = '0.1.0'
