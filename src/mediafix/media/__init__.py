"""The domain: pure logic over files. Imports nothing of Flask, SQLAlchemy or Huey."""
