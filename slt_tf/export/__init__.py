"""A found ticket out of its workdir.

* ``saved_model``: the frozen ticket as a TF Serving SavedModel.
* ``compact``: the compact ticket (seeds and bit-packed masks).
* ``serving_client``: a REST/gRPC client of a served ticket.

``python -m slt_tf.export`` (``__main__``) writes either.
"""
