"""Triplet mining for contrastive fine-tuning: (student-style anchor, answering chunk, hard negative).

``anchors`` turns lecture sentences and titles into the questions a student would type,
``split`` keeps evaluation lectures out of training, ``mining`` finds hard negatives in other videos.
"""

from pipelines.training.triplets.mining import MiningReport, Triplet, mine_triplets, read_triplets, write_triplets
from pipelines.training.triplets.split import held_out_videos

__all__ = ["MiningReport", "Triplet", "held_out_videos", "mine_triplets", "read_triplets", "write_triplets"]
