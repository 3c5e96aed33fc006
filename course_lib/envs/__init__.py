"""Small environments the course owns."""
