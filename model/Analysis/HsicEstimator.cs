namespace GppfActors.Model.Analysis;

/// <summary>How HSIC is estimated from two Gram matrices of the same n examples.</summary>
public enum HsicEstimator
{
    /// <summary>
    /// The unbiased estimator HSIC_1 of Song et al. (2012), n &gt;= 4: its mean over minibatches is an
    /// unbiased estimate of the population HSIC, which is what makes minibatch CKA (Nguyen et al. 2021) work.
    /// </summary>
    Unbiased,

    /// <summary>tr(KHLH) / (n-1)^2 over one batch: the full-data CKA of Kornblith et al. (2019) when all examples form one batch.</summary>
    Biased,
}
