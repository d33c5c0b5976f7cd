"""loadtest: a load tester and respondent simulator for online-survey APIs."""

__all__ = ["__version__"]
__version__ = "0.1.0"
