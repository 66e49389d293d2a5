"""Value study: customer lifetime value by experience (BG/NBD and Gamma-Gamma) and the value of a better experience."""
