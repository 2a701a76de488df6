"""Op-info rows of cltensor.fft: every transform is tested in tests/test_fft.py (against PyTorch over norms,
lengths, dims, strided and batched inputs, gradients and errors), so the family is exempted here."""
ROWS = []

# tested in tests/test_fft.py: the transforms need per-op argument forms (n / s, dim, norm, the Hermitian
# output lengths) that the generic row sampler does not produce
EXEMPT = {"fft.fft", "fft.ifft", "fft.fft2", "fft.ifft2", "fft.fftn", "fft.ifftn", "fft.rfft", "fft.irfft",
          "fft.rfft2", "fft.irfft2", "fft.rfftn", "fft.irfftn", "fft.hfft", "fft.ihfft", "fft.hfft2",
          "fft.ihfft2", "fft.hfftn", "fft.ihfftn", "fft.fftshift", "fft.ifftshift"}
# tested in tests/test_fft.py against torch.stft / torch.istft (values, shapes, gradients)
EXEMPT |= {"stft", "istft"}
