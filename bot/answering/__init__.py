"""The answering pieces every front door shares: the AnswerService, guards, the answer log and draining."""
