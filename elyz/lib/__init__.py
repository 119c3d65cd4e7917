"""What every layer of the kernel may use, and which uses none of them: the
kernel log (log.py) and the tick clock (clock.py).  Nothing here imports
from elyz.mm, elyz.drivers, elyz.console, elyz.obj or elyz.kernel."""
