/* Deliberately empty: the kernel computes with no floats. */
