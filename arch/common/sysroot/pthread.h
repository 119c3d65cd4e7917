/* Deliberately empty: no threads in a freestanding program. */
