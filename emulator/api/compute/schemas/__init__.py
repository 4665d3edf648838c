"""Request schemas shared by compute controllers (Nova's ``parameter_types``)."""
