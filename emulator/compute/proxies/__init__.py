"""Nova's deprecated proxy APIs (until 2.35): what Nova makes of Neutron's and Cinder's
records and errors. Each module calls the in-process service as Nova calls the real one
(with the caller's own credentials, so each service's tenant isolation holds) and answers
in Nova's shapes and with Nova's errors. No HTTP."""
