"""The user runtime: api (what programs call), multicall (the one entry point
that picks a program), image (the FreestandingProgram of the image), abigen
(the C header and system-call stubs made from elyz/abi); the C files next
to them."""
