"""The Telegram front end: the application and its handlers for people's private chats, sending
with retries and the crisis-first rate limiter. The only package besides coordinators/ that
imports python-telegram-bot."""
