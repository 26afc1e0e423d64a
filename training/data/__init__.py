"""BDD100K, VisDrone and COCO labels -> YOLO datasets of the VRU classes (``vru-train data``)."""
