"""The purpose gate every use of personal data goes through, and restrictions of processing."""
