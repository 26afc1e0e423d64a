"""
Sparsity training, BN-scale channel pruning and KD fine-tune of a YOLOv8 student.

Stages (each a module): ``sparsity`` (L1 on BatchNorm gammas during training),
``c2f_split_free`` (a C2f without ``chunk`` so channel dependencies are traceable),
``channel_pruning`` (Torch-Pruning dependency graph, global BN-gamma ranking),
``checkpoint`` (pruned model saved whole as an ultralytics checkpoint), ``finetune``
(distillation from the unpruned model), ``report`` (params / FLOPs / latency).
"""
