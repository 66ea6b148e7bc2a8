"""The long-running job: the stored pipeline, the service, the scheduler, delivery, the web app."""
