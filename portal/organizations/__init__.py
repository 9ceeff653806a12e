"""Organizations of the network, their MOUs (agreements) and the services each MOU grants."""
