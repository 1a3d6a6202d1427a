"""The local stack: AWS emulated by moto, the queue poller and the scheduler.

Development and test code only; it is not part of the Lambda package.
"""
