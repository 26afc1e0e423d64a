"""Knowledge distillation of a YOLOv8 teacher into a small student (``vru-train distill``)."""
