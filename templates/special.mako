## Special functions (torch.special and the gamma/Bessel/error-function family of torch.*) as device functions
## that elementwise expressions call (sp_digamma(x0), sp_polygamma(n, x0) ...). templates/elementwise.mako emits
## `helpers` for the real types of a kernel whose expression names an sp_ function. Algorithms are those of
## PyTorch's CPU kernels (Cephes' polynomial and Chebyshev expansions, Euler-Maclaurin for zeta, Newton steps
## for erfinv), written once per real type R: float functions compute in float (as PyTorch's float kernels do),
## double functions in double.
<%!
# Chebyshev coefficients of exp(-x) I0(x) on [0, 8] and of exp(-x) sqrt(x) I0(x) on [8, inf) (Cephes i0.c)
I0_A = ("-4.41534164647933937950E-18 3.33079451882223809783E-17 -2.43127984654795469359E-16 "
        "1.71539128555513303061E-15 -1.16853328779934516808E-14 7.67618549860493561688E-14 "
        "-4.85644678311192946090E-13 2.95505266312963983461E-12 -1.72682629144155570723E-11 "
        "9.67580903537323691224E-11 -5.18979560163526290666E-10 2.65982372468238665035E-9 "
        "-1.30002500998624804212E-8 6.04699502254191894932E-8 -2.67079385394061173391E-7 "
        "1.11738753912010371815E-6 -4.41673835845875056359E-6 1.64484480707288970893E-5 "
        "-5.75419501008210370398E-5 1.88502885095841655729E-4 -5.76375574538582365885E-4 "
        "1.63947561694133579842E-3 -4.32430999505057594430E-3 1.05464603945949983183E-2 "
        "-2.37374148058994688156E-2 4.93052842396707084878E-2 -9.49010970480476444210E-2 "
        "1.71620901522208775349E-1 -3.04682672343198398683E-1 6.76795274409476084995E-1").split()
I0_B = ("-7.23318048787475395456E-18 -4.83050448594418207126E-18 4.46562142029675999901E-17 "
        "3.46122286769746109310E-17 -2.82762398051658348494E-16 -3.42548561967721913462E-16 "
        "1.77256013305652638360E-15 3.81168066935262242075E-15 -9.55484669882830764870E-15 "
        "-4.15056934728722208663E-14 1.54008621752140982691E-14 3.85277838274214270114E-13 "
        "7.18012445138366623367E-13 -1.79417853150680611778E-12 -1.32158118404477131188E-11 "
        "-3.14991652796324136454E-11 1.18891471078464383424E-11 4.94060238822496958910E-10 "
        "3.39623202570838634515E-9 2.26666899049817806459E-8 2.04891858946906374183E-7 "
        "2.89137052083475648297E-6 6.88975834691682398426E-5 3.36911647825569408990E-3 "
        "8.04490411014108831608E-1").split()
# exp(-x) I1(x) / x on [0, 8] and exp(-x) sqrt(x) I1(x) on [8, inf) (Cephes i1.c); float uses the last terms
I1_A = ("2.77791411276104639959E-18 -2.11142121435816608115E-17 1.55363195773620046921E-16 "
        "-1.10559694773538630805E-15 7.60068429473540693410E-15 -5.04218550472791168711E-14 "
        "3.22379336594557470981E-13 -1.98397439776494371520E-12 1.17361862988909016308E-11 "
        "-6.66348972350202774223E-11 3.62559028155211703701E-10 -1.88724975172282928790E-9 "
        "9.38153738649577178388E-9 -4.44505912879632808065E-8 2.00329475355213526229E-7 "
        "-8.56872026469545474066E-7 3.47025130813767847674E-6 -1.32731636560394358279E-5 "
        "4.78156510755005422638E-5 -1.61760815825896745588E-4 5.12285956168575772895E-4 "
        "-1.51357245063125314899E-3 4.15642294431288815669E-3 -1.05640848946261981558E-2 "
        "2.47264490306265168283E-2 -5.29459812080949914269E-2 1.02643658689847095384E-1 "
        "-1.76416518357834055153E-1 2.52587186443633654823E-1").split()
I1_B = ("7.51729631084210481353E-18 4.41434832307170791151E-18 -4.65030536848935832153E-17 "
        "-3.20952592199342395980E-17 2.96262899764595013876E-16 3.30820231092092828324E-16 "
        "-1.88035477551078244854E-15 -3.81440307243700780478E-15 1.04202769841288027642E-14 "
        "4.27244001671195135429E-14 -2.10154184277266431302E-14 -4.08355111109219731823E-13 "
        "-7.19855177624590851209E-13 2.03562854414708950722E-12 1.41258074366137813316E-11 "
        "3.25260358301548823856E-11 -1.89749581235054123450E-11 -5.58974346219658380687E-10 "
        "-3.83538038596423702205E-9 -2.63146884688951950684E-8 -2.51223623787020892529E-7 "
        "-3.88256480887769039346E-6 -1.10588938762623716291E-4 -9.76109749136146840777E-3 "
        "7.78576235018280120474E-1").split()
# asymptotic digamma: 1/x^2 polynomial (Cephes psi.c)
PSI_A = ("8.33333333333333333333E-2 -2.10927960927960927961E-2 7.57575757575757575758E-3 "
         "-4.16666666666666666667E-3 3.96825396825396825397E-3 -8.33333333333333333333E-3 "
         "8.33333333333333333333E-2").split()
# ndtri rational approximations (Cephes ndtri.c): central, z in [2, 8), z in [8, 64)
NDTRI_P0 = ("-5.99633501014107895267E1 9.80010754185999661536E1 -5.66762857469070293439E1 "
            "1.39312609387279679503E1 -1.23916583867381258016E0").split()
NDTRI_Q0 = ("1.00000000000000000000E0 1.95448858338141759834E0 4.67627912898881538453E0 8.63602421390890590575E1 "
            "-2.25462687854119370527E2 2.00260212380060660359E2 -8.20372256168333339912E1 "
            "1.59056225126211695515E1 -1.18331621121330003142E0").split()
NDTRI_P1 = ("4.05544892305962419923E0 3.15251094599893866154E1 5.71628192246421288162E1 4.40805073893200834700E1 "
            "1.46849561928858024014E1 2.18663306850790267539E0 -1.40256079171354495875E-1 "
            "-3.50424626827848203418E-2 -8.57456785154685413611E-4").split()
NDTRI_Q1 = ("1.00000000000000000000E0 1.57799883256466749731E1 4.53907635128879210584E1 4.13172038254672030440E1 "
            "1.50425385692907503408E1 2.50464946208309415979E0 -1.42182922854787788574E-1 "
            "-3.80806407691578277194E-2 -9.33259480895457427372E-4").split()
NDTRI_P2 = ("3.23774891776946035970E0 6.91522889068984211695E0 3.93881025292474443415E0 1.33303460815807542389E0 "
            "2.01485389549179081538E-1 1.23716634817820021358E-2 3.01581553508235416007E-4 "
            "2.65806974686737550832E-6 6.23974539184983293730E-9").split()
NDTRI_Q2 = ("1.00000000000000000000E0 6.02427039364742014255E0 3.67983563856160859403E0 1.37702099489081330271E0 "
            "2.16236993594496635890E-1 1.34204006088543189037E-2 3.28014464682127739104E-4 "
            "2.89247864745380683936E-6 6.79019408009981274425E-9").split()
# Euler-Maclaurin coefficients of Hurwitz zeta (Cephes zeta.c): (2k)! / B_2k
ZETA_A = ("12.0 -720.0 30240.0 -1209600.0 47900160.0 -1.8924375803183791606e9 7.47242496e10 "
          "-2.950130727918164224e12 1.1646782814350067249e14 -4.5979787224074726105e15 "
          "1.8152105401943546773e17 -7.1661652561756670113e18").split()


def lit(v, R):
    """A literal of real type R."""
    s = v if any(c in v for c in ".eE") else v + ".0"
    return s + ("f" if R == "float" else "")


def arr(name, vals, R):
    return "__constant %s %s_%s[%d] = {%s};" % (R, name, R, len(vals), ", ".join(lit(v, R) for v in vals))
%>

<%def name="helpers(dts)">
<%
    names = set(t.name for t in dts)
    reals = ["float"] + (["double"] if names & {"float64", "complex128"} else [])
%>
% for R in reals:
${funcs(R)}
% endfor
</%def>

<%def name="funcs(R)">
<%
    F = "f" if R == "float" else ""
    L = lambda v: lit(v, R)
    i1a = I1_A if R == "double" else I1_A[12:]
    i1b = I1_B if R == "double" else I1_B[18:]
%>
/* ---- special functions, ${R} ---- */
${arr("sp_i0a", I0_A, R)}
${arr("sp_i0b", I0_B, R)}
${arr("sp_i1a", i1a, R)}
${arr("sp_i1b", i1b, R)}
${arr("sp_psia", PSI_A, R)}
${arr("sp_ndp0", NDTRI_P0, R)}
${arr("sp_ndq0", NDTRI_Q0, R)}
${arr("sp_ndp1", NDTRI_P1, R)}
${arr("sp_ndq1", NDTRI_Q1, R)}
${arr("sp_ndp2", NDTRI_P2, R)}
${arr("sp_ndq2", NDTRI_Q2, R)}
${arr("sp_zetaa", ZETA_A, R)}
% if R == "float":
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
__constant double sp_zetaa_acc_f[12] = {${", ".join(ZETA_A)}};
#endif
% endif

/* polynomial with coefficients c[0] (highest degree) .. c[n-1] */
static inline OVL ${R} sp_polevl(${R} x, __constant ${R}* c, int n) {
    ${R} r = c[0];
    for (int i = 1; i < n; i++) r = r * x + c[i];
    return r;
}
/* Chebyshev series sum c[i] T_i(x/2), coefficients in reverse order (Cephes chbevl) */
static inline OVL ${R} sp_chbevl(${R} x, __constant ${R}* c, int n) {
    ${R} b0 = c[0], b1 = 0, b2 = 0;
    for (int i = 1; i < n; i++) { b2 = b1; b1 = b0; b0 = x * b1 - b2 + c[i]; }
    return (${R})0.5 * (b0 - b2);
}

/* digamma: reflection for x < 0 (on the fractional part: tan(pi r) is exact-er than tan(pi x)), recurrence up
   to x >= 10, then the asymptotic series; poles: +-0 -> -+inf, negative integers -> nan */
static inline OVL ${R} sp_digamma_pos(${R} x) {
    ${R} result = 0;
    while (x < 10) { result -= 1 / x; x += 1; }
    if (x == 10) return result + ${L("2.25175258906672110764")};
    ${R} y = 0;
    if (x < ${L("1.0e17")}) { const ${R} z = 1 / (x * x); y = z * sp_polevl(z, sp_psia_${R}, 7); }
    return result + log(x) - ${L("0.5")} / x - y;
}
static inline OVL ${R} sp_digamma(${R} x) {
    if (x == 0) return copysign((${R})INFINITY, -x);
    if (x < 0) {
        if (x == trunc(x)) return (${R})NAN;
% if R == "float":
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
        const float pt = (float)(3.14159265358979323846 / tan(3.14159265358979323846 * (double)(x - trunc(x))));
#else
        const float pt = M_PI_F / tan(M_PI_F * (x - trunc(x)));
#endif
% else:
        const double pt = M_PI / tan(M_PI * (x - trunc(x)));
% endif
        return sp_digamma_pos(1 - x) - pt;
    }
    return sp_digamma_pos(x);
}

/* trigamma: reflection below 0.5, six recurrence steps, asymptotic series */
static inline OVL ${R} sp_trigamma(${R} x) {
    ${R} sign = 1, result = 0;
    if (x < ${L("0.5")}) {
        sign = -1;
        const ${R} s = sin(M_PI${"_F" if R == "float" else ""} * x);
        result -= (M_PI${"_F" if R == "float" else ""} * M_PI${"_F" if R == "float" else ""}) / (s * s);
        x = 1 - x;
    }
    for (int i = 0; i < 6; i++) { result += 1 / (x * x); x += 1; }
    const ${R} ixx = 1 / (x * x);
    result += (1 + 1 / (2 * x) + ixx * (${L("1")} / 6 - ixx * (${L("1")} / 30 - ixx * (${L("1")} / 42)))) / x;
    return sign * result;
}

/* Hurwitz zeta(x, q) (Euler-Maclaurin; Cephes zeta.c). PyTorch's CPU kernels sum in double for float
   arguments: so does the float version where the device has fp64 */
% if R == "float":
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
${zeta("sp_zeta_acc_f", "double", "sp_zetaa_acc_f")}
static inline OVL float sp_zeta(float x, float q) { return (float)sp_zeta_acc_f((double)x, (double)q); }
#else
${zeta("sp_zeta", "float", "sp_zetaa_float")}
#endif
% else:
${zeta("sp_zeta", R, "sp_zetaa_" + R)}
% endif

/* polygamma(n, x), n >= 0 */
static inline OVL ${R} sp_polygamma(int n, ${R} x) {
    if (n == 0) return sp_digamma(x);
    if (n == 1) return sp_trigamma(x);
    const ${R} fn = (${R})n;
    return ((n & 1) ? (${R})1 : (${R})-1) * exp(lgamma(fn + 1)) * sp_zeta(fn + 1, x);
}

/* erfinv: rational first guess, two Newton steps */
static inline OVL ${R} sp_erfinv(${R} y) {
    const ${R} ya = fabs(y);
    if (ya > 1) return (${R})NAN;
    if (ya == 1) return copysign((${R})INFINITY, y);
    ${R} x;
    if (ya <= ${L("0.7")}) {
        const ${R} z = y * y;
        const ${R} num = ((${L("-0.140543331")} * z + ${L("0.914624893")}) * z + ${L("-1.645349621")}) * z + ${L("0.886226899")};
        const ${R} dem = (((${L("0.012229801")} * z + ${L("-0.329097515")}) * z + ${L("1.442710462")}) * z + ${L("-2.118377725")}) * z + 1;
        x = y * num / dem;
    } else {
        const ${R} z = sqrt(-log((1 - ya) / 2));
        const ${R} num = ((${L("1.641345311")} * z + ${L("3.429567803")}) * z + ${L("-1.624906493")}) * z + ${L("-1.970840454")};
        const ${R} dem = (${L("1.637067800")} * z + ${L("3.543889200")}) * z + 1;
        x = copysign(num, y) / dem;
    }
    const ${R} k = ${L("1.12837916709551257390")};      /* 2 / sqrt(pi) */
    x = x - (erf(x) - y) / (k * exp(-x * x));
    x = x - (erf(x) - y) / (k * exp(-x * x));
    return x;
}

/* modified Bessel functions of the first kind, orders 0 and 1, and their exp(-|x|)-scaled forms */
static inline OVL ${R} sp_i0e(${R} x) {
    x = fabs(x);
    if (x <= 8) return sp_chbevl(x / 2 - 2, sp_i0a_${R}, 30);
    return sp_chbevl(32 / x - 2, sp_i0b_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_i0(${R} x) {
    x = fabs(x);
    if (x <= 8) return exp(x) * sp_chbevl(x / 2 - 2, sp_i0a_${R}, 30);
    return exp(x) * sp_chbevl(32 / x - 2, sp_i0b_${R}, 25) / sqrt(x);
}
static inline OVL ${R} sp_i1(${R} x0) {
    const ${R} x = fabs(x0);
    ${R} r;
    if (x <= 8) r = exp(x) * x * sp_chbevl(x / 2 - 2, sp_i1a_${R}, ${len(i1a)});
    else r = exp(x) * sp_chbevl(32 / x - 2, sp_i1b_${R}, ${len(i1b)}) / sqrt(x);
    return x0 < 0 ? -r : r;
}
static inline OVL ${R} sp_i1e(${R} x0) {
    const ${R} x = fabs(x0);
    ${R} r;
    if (x <= 8) r = sp_chbevl(x / 2 - 2, sp_i1a_${R}, ${len(i1a)}) * x;
    else r = sp_chbevl(32 / x - 2, sp_i1b_${R}, ${len(i1b)}) / sqrt(x);
    return x0 < 0 ? -r : r;
}

/* standard normal CDF, its inverse and its logarithm */
static inline OVL ${R} sp_ndtr(${R} a) {
    const ${R} x = a * ${L("0.70710678118654752440")};
    const ${R} z = fabs(x);
    if (z < ${L("0.70710678118654752440")}) return ${L("0.5")} + ${L("0.5")} * erf(x);
    const ${R} y = ${L("0.5")} * erfc(z);
    return x > 0 ? 1 - y : y;
}
static inline OVL ${R} sp_ndtri(${R} y0) {
    if (y0 == 0) return -(${R})INFINITY;
    if (y0 == 1) return (${R})INFINITY;
    if (y0 < 0 || y0 > 1 || isnan(y0)) return (${R})NAN;
    bool code = true;
    ${R} y = y0;
    if (y > 1 - ${L("0.13533528323661269189")}) { y = 1 - y; code = false; }
    if (y > ${L("0.13533528323661269189")}) {
        y = y - ${L("0.5")};
        const ${R} y2 = y * y;
        const ${R} x = y + y * (y2 * sp_polevl(y2, sp_ndp0_${R}, 5) / sp_polevl(y2, sp_ndq0_${R}, 9));
        return x * ${L("2.50662827463100050242")};
    }
    ${R} x = sqrt(-2 * log(y));
    const ${R} x0 = x - log(x) / x;
    const ${R} z = 1 / x;
    const ${R} x1 = x < 8 ? z * sp_polevl(z, sp_ndp1_${R}, 9) / sp_polevl(z, sp_ndq1_${R}, 9)
                          : z * sp_polevl(z, sp_ndp2_${R}, 9) / sp_polevl(z, sp_ndq2_${R}, 9);
    x = x0 - x1;
    return code ? -x : x;
}

/* erfcx(x) = exp(x^2) erfc(x), x >= 0: erfc(x) exp(x^2) with x^2 split exactly (x*x = p + e, fma) while erfc(x)
   is a normal number; beyond, the asymptotic series 1/(x sqrt(pi)) sum (-1)^k (2k-1)!! / (2x^2)^k */
static inline OVL ${R} sp_erfcx_pos(${R} x) {
% if R == "double":
    if (x < 25) {
% else:
    if (x < 9) {
% endif
        const ${R} p = x * x, e = fma(x, x, -p);
        return erfc(x) * exp(p) * (1 + e);
    }
    if (isinf(x)) return 0;
    const ${R} h = 1 / (2 * x * x);
    ${R} t = 1, s = 1;
    for (int k = 1; k < 14; k++) { t *= -(2 * k - 1) * h; s += t; }
    return s / (x * ${L("1.77245385090551602730")});
}
static inline OVL ${R} sp_erfcx(${R} x) {
    if (isnan(x)) return x;
    if (x >= 0) return sp_erfcx_pos(x);
    /* as PyTorch's: 2 exp(x^2) with x^2 rounded (it dominates below -6.1), overflowing below ~-26.6 (double)
       or ~-9.4 (float) */
    if (x < ${L("-26.7")}) return (${R})INFINITY;
    if (x < ${L("-6.1")}) return 2 * exp(x * x);
    return 2 * exp(x * x) - sp_erfcx_pos(-x);
}
static inline OVL ${R} sp_log_ndtr(${R} x) {
    const ${R} t = x * ${L("0.70710678118654752440")};
    if (x < -1) return log(sp_erfcx(-t) / 2) - t * t;
    return log1p(-erfc(t) / 2);
}

/* entr(x) = -x log(x); xlog1py(x, y) = x log1p(y) (0 where x == 0 and y is not nan) */
static inline OVL ${R} sp_entr(${R} x) {
    if (isnan(x)) return x;
    if (x > 0) return -x * log(x);
    if (x == 0) return 0;
    return -(${R})INFINITY;
}
static inline OVL ${R} sp_xlog1py(${R} x, ${R} y) {
    if (isnan(y)) return y;
    if (x == 0) return 0;
    return x * log1p(y);
}
</%def>

<%def name="zeta(name, A, tab)">
static inline OVL ${A} ${name}(${A} x, ${A} q) {
    const ${A} MACHEP = (${A})1.11022302462515654042E-16;
    if (x == 1) return (${A})INFINITY;
    if (x < 1) return (${A})NAN;
    if (q <= 0) {
        if (q == floor(q)) return (${A})INFINITY;
        if (x != floor(x)) return (${A})NAN;
    }
    ${A} s = pow(q, -x), a = q, b = 0;
    int i = 0;
    while (i < 9 || a <= 9) {
        i += 1;
        a += 1;
        b = pow(a, -x);
        s += b;
        if (-MACHEP * s < b && b < MACHEP * s) return s;
    }
    const ${A} w = a;
    s += b * w / (x - 1);
    s -= (${A})0.5 * b;
    a = 1;
    ${A} k = 0;
    for (i = 0; i < 12; i++) {
        a *= x + k;
        b /= w;
        ${A} t = a * b / ${tab}[i];
        s = s + t;
        t = fabs(t / s);
        if (t < MACHEP) return s;
        k += 1;
        a *= x + k;
        b /= w;
        k += 1;
    }
    return s;
}
</%def>
