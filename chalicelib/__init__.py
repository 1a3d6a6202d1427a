"""Metadata Manager: render configurations for website pages, served from one DynamoDB table."""
