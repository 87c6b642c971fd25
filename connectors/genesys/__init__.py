"""The Genesys Cloud connector: conversations (analytics details), users, routing queues,
wrap-up codes and external contacts."""
